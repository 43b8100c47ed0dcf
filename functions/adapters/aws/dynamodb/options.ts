/**
 * The document client's translation options, the same for every client that reads or writes the controller's
 * tables (the handlers, the config publisher, the CLI).
 *
 * - removeUndefinedValues: an optional field left undefined is not written.
 * - allowImpreciseNumbers: numbers beyond 2^53 are written as the DynamoDB numbers they are. Without it the client
 *   refuses to marshal any such number and the write fails before it is sent; analysis evidence and configs can hold
 *   them (a gauge in bytes, a count summed over days; CloudWatch takes values up to 2^360). Nothing is lost: a
 *   double's shortest decimal form has at most 17 significant digits, a DynamoDB Number holds 38 ("Supported data
 *   types and naming rules in Amazon DynamoDB"), and parsing that decimal back gives the same double.
 * - wrapNumbers as Number: every stored number is read back as the double it was written from. By default the
 *   client reads a number beyond 2^53 as a BigInt (which JSON cannot carry to Step Functions) or throws on one with
 *   a fraction or an exponent.
 * Non-finite numbers stay refused by the client: the judge never emits one (core/stats/storable.ts).
 */
export const DOCUMENT_OPTIONS = {
  marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
  unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
};
