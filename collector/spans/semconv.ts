/**
 * Semantic-convention names still in the "incubating" set. The
 * OpenTelemetry JS guidance is to copy these rather than import the
 * unstable entry point; stable names come from the package itself.
 */
export const ATTR_HTTP_REQUEST_BODY_SIZE = 'http.request.body.size';
export const ATTR_HTTP_RESPONSE_BODY_SIZE = 'http.response.body.size';
export const ATTR_PROCESS_PID = 'process.pid';
export const ATTR_PROCESS_EXECUTABLE_NAME = 'process.executable.name';
export const ATTR_PROCESS_EXECUTABLE_PATH = 'process.executable.path';
export const ATTR_PROCESS_COMMAND_LINE = 'process.command_line';
export const ATTR_HOST_NAME = 'host.name';
export const ATTR_CONTAINER_ID = 'container.id';
export const ATTR_CONTAINER_NAME = 'container.name';
export const ATTR_RPC_SYSTEM = 'rpc.system';
export const ATTR_RPC_SERVICE = 'rpc.service';
export const ATTR_RPC_METHOD = 'rpc.method';
export const ATTR_RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';
/** Sonde's own: fields an HTTP/2 header block did not give back (joined midway), left out rather than guessed. */
export const ATTR_SONDE_UNRECOVERED = 'sonde.unrecovered';
