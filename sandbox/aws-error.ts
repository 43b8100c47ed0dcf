/** An error as the AWS SDK v3 throws a service's client error: its name, message and HTTP status 400. */
export function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}
