// A failure the `skein` command reports as one line (`skein: <message>`) and exit code 1,
// rather than as a stack trace: the user's input or the server's answer, not a bug.
export class CliError extends Error {}
