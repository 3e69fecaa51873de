/**
 * Sizing the export bench's data set: the patient count whose estimate reaches
 * the wanted number of resources, raised until the data set (counted by
 * generating it: the per-patient count varies around the estimate) holds at least that many.
 */
import { estimateResources } from '../fhir-server/seed/seed-synthetic.ts';
import { syntheticResources } from '../fhir-server/seed/synthetic.ts';

/** Resources in the synthetic data set of `patients` patients and `seed`. */
export function countSynthetic(patients: number, seed: string): number {
  let count = 0;
  for (const batch of syntheticResources({ patients, seed })) count += batch.length;
  return count;
}

/** Patients (and their exact resource count) for at least `resources` resources. */
export function patientsFor(resources: number, seed: string): { patients: number; resources: number } {
  let patients = 1;
  while (estimateResources(patients * 2) < resources) patients *= 2;
  let low = patients;
  let high = patients * 2;
  while (estimateResources(low) < resources && low < high) {
    const mid = Math.floor((low + high) / 2);
    if (estimateResources(mid) < resources) low = mid + 1;
    else high = mid;
  }
  let count = countSynthetic(low, seed);
  while (count < resources) {
    low += Math.max(1, Math.ceil((resources - count) / 20));
    count = countSynthetic(low, seed);
  }
  return { patients: low, resources: count };
}
