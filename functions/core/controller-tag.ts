/**
 * The tag that puts a service's resources under this controller: its listener (and route rule), its ECS services, the
 * stable task definition (its tags are copied to the canary's) and the roles that task definition names carry
 * `canary-controller` = the controller's id (CanaryControllerProps.controllerId, default the stack name). The
 * controller's IAM names no service ARN: it allows changes to resources with this tag only (aws:ResourceTag), so one
 * role serves any number of services. `canary check` reports a resource without it.
 */
export const CONTROLLER_TAG_KEY = 'canary-controller';
