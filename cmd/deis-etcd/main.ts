import { installStackMapping } from '../../internal/stack-map.ts';
import { main } from './cli.ts';

// argv0 names the link (/bin/boot) for the single executable; argv[1] the script for a bundle.
// No top-level await: this is also the CommonJS main of the single executable.
installStackMapping();
void main([process.argv0, process.argv[1]], process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
