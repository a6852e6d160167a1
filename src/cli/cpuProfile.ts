// IRONLB_CPU_PROFILE=<dir>: record a V8 CPU profile of this process and write it to
// <dir>/<command>-<pid>.cpuprofile at exit (open it in Chrome DevTools). Node refuses --cpu-prof in
// NODE_OPTIONS, and lab processes are started by the lab, so this is how to profile a speaker there.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

export function startCpuProfileFromEnv(command: string): void {
  const dir = process.env.IRONLB_CPU_PROFILE;
  if (!dir) return;
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.start'));
  let written = false;
  process.on('exit', () => {
    if (written) return;
    written = true;
    // post() runs its callback synchronously for an in-process session.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${command}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
