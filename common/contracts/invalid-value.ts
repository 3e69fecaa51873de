/** The error a contract check throws: a value in a request breaks the contract; the message names the field and says why. */

/** A value that breaks a contract (each service maps it to its own "invalid argument" error). */
export class InvalidContractValue extends Error {
  override readonly name = 'InvalidContractValue';
}
