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
