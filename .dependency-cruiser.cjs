/**
 * The rooms of DESIGN.md as rules: who may import whom. `npm test` runs these (`npm run depcheck`),
 * so a shortcut across rooms fails the build instead of growing unnoticed.
 */
module.exports = {
    forbidden: [
        {
            name: 'core-stays-generic',
            comment: 'core/ is the domain: it names no family, no consumer (ha/, web/), no device edge and no settings assembly.',
            severity: 'error',
            from: {path: '^src/core/'},
            to: {path: '^src/(families|ha|web|edge|simulate)/|^src/(bridge|cli|settings)\\.ts$'},
        },
        {
            name: 'config-names-no-family',
            comment: 'config/ assembles sections it is given; the families bring their own.',
            severity: 'error',
            from: {path: '^src/config/'},
            to: {path: '^src/(families|ha|web|edge|simulate)/|^src/(bridge|cli|settings)\\.ts$'},
        },
        {
            name: 'family-keeps-to-itself',
            comment: 'A family imports no other family.',
            severity: 'error',
            from: {path: '^src/families/([^/]+)/'},
            to: {path: '^src/families/', pathNot: ['^src/families/$1/', '^src/families/family\\.ts$']},
        },
        {
            name: 'family-knows-no-consumer',
            comment: 'Families reach Home Assistant and the web UI only through the core; the composition root is above them.',
            severity: 'error',
            from: {path: '^src/families/'},
            to: {path: '^src/(ha|web)/|^src/(bridge|cli|settings)\\.ts$'},
        },
        {
            name: 'family-runtime-without-simulators',
            comment: "A family's runtime code (codec, server, adapter) never imports a simulator; only its registration, CLI and demo modules name them.",
            severity: 'error',
            from: {path: '^src/families/', pathNot: '^src/families/[^/]+/(index|cli|claim-cli|demo)\\.ts$'},
            to: {path: '^src/simulate/'},
        },
        {
            name: 'simulators-speak-only-the-protocol',
            comment: "Simulators talk to the bridge only over sockets: they import codecs and util/, nothing of the bridge's running parts.",
            severity: 'error',
            from: {path: '^src/simulate/'},
            to: {path: '^src/', pathNot: ['^src/simulate/', '^src/util/', '^src/families/[^/]+/(codec|node-config|topics)\\.ts$', '^src/families/[^/]+/[^/]+/[a-z-]+-codec\\.ts$']},
        },
        {
            name: 'edge-serves-every-family',
            comment: 'The device edge is shared: families register on it, it names none of them.',
            severity: 'error',
            from: {path: '^src/edge/'},
            to: {path: '^src/(families|ha|web|simulate)/|^src/(bridge|cli|settings)\\.ts$'},
        },
        {
            name: 'consumers-know-no-vendor',
            comment: 'The Home Assistant side and the web UI see normalised devices only.',
            severity: 'error',
            from: {path: '^src/(ha|web)/'},
            to: {path: '^src/(families|edge|simulate)/|^src/(bridge|cli|settings)\\.ts$'},
        },
        {
            name: 'util-is-a-leaf',
            comment: 'util/ holds one of each helper and depends on nothing of ours.',
            severity: 'error',
            from: {path: '^src/util/'},
            to: {path: '^src/', pathNot: '^src/util/'},
        },
        {
            name: 'no-circular',
            severity: 'error',
            from: {path: '^src/'},
            to: {circular: true},
        },
    ],
    options: {
        doNotFollow: {path: 'node_modules'},
        tsPreCompilationDeps: true,
        tsConfig: {fileName: 'tsconfig.json'},
        enhancedResolveOptions: {extensions: ['.ts', '.js']},
    },
};
