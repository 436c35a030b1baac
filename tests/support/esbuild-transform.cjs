// Minimal Jest transformer: TypeScript (and the ES-module-only packages jest.config.cjs names) ->
// CommonJS with esbuild (fast; no type checking here).
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const { code, map } = transformSync(source, {
      loader: filename.endsWith('.ts') ? 'ts' : 'js',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'inline',
      sourcefile: filename,
    });
    return { code, map };
  },
};
