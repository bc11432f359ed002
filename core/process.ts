/**
 * Which program, inside a sandbox Sluice runs, opened a client connection: the kernel's answer
 * (the socket's owner, its /proc/<pid>/exe and its parents'), never what the program says about
 * itself (argv, environment, headers). A policy's `binaries` are matched against it.
 */
export interface ProcessIdentity {
  /** The executable of the process that owns the connection, as the kernel resolved it. */
  exe: string;
  /** The executables of its ancestors inside the sandbox, nearest first. */
  ancestors: readonly string[];
}

/**
 * The attribution of one client connection: an identity, or why there is none (the socket has no
 * owner Sluice can see, several programs share it, a pinned binary changed). With an error the
 * connection must be refused wherever a policy scopes hosts by binary: never guessed.
 */
export type ClientProcess = { identity: ProcessIdentity } | { error: string };

/**
 * Attributes a TCP client connection from its 4-tuple (`remote` is the client's end as the proxy
 * sees it, `local` the proxy's). Given to the listener of a sandbox Sluice runs; absent elsewhere.
 */
export type AttributeClient = (conn: { remote: { ip: string; port: number }; local: { ip: string; port: number } }) => Promise<ClientProcess>;
