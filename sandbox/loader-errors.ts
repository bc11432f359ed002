/**
 * A command whose executable links a library the docker image does not carry never starts: the
 * dynamic loader prints one line and exits 127, which reads like the command's own failure.
 * The driver shows the container's stderr to this watcher on its way out; only the start of it
 * is kept (the loader speaks before the command does), so watching costs nothing later.
 */
const KEEP_BYTES = 8192;
const LOADER_ERROR = /error while loading shared libraries: ([^:\s]+): cannot open shared object file/;

export interface LoaderWatch {
  /** Every chunk of stderr, as it passes. */
  see(chunk: Buffer): void;
  /** The soname the loader could not find, if it said so. */
  missing(): string | undefined;
}

export function watchLoaderErrors(): LoaderWatch {
  let head = '';
  return {
    see(chunk) {
      if (head.length < KEEP_BYTES) head += chunk.subarray(0, KEEP_BYTES - head.length).toString('utf8');
    },
    missing: () => LOADER_ERROR.exec(head)?.[1],
  };
}

/** The exit note that names the library and the two ways to get it into the sandbox. */
export function missingLibraryNote(soname: string, command: string, image: string): string {
  const program = /\s/.test(command) ? JSON.stringify(command) : command;
  return (
    `${program} could not start: it links ${soname}, which the image ${image} does not carry. ` +
    `Run \`sluice image build --force${image === 'sluice-base:latest' ? '' : ` --tag ${image}`} --for ${program}\` ` +
    `(adds every library ${program} links on this host) and run again, or give an --image that has ${soname}`
  );
}
