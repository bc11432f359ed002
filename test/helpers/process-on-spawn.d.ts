// process-on-spawn 1.1.0 ships no types: the part untraced-children.ts uses.
declare module 'process-on-spawn' {
  interface SpawnOptions {
    /** Settable: the environment the process will be spawned with. */
    env: NodeJS.ProcessEnv;
    readonly execPath: string;
    readonly args: readonly string[];
  }
  const processOnSpawn: { addListener(listener: (opts: SpawnOptions) => void): void; prependListener(listener: (opts: SpawnOptions) => void): void };
  export default processOnSpawn;
}
