/** The one-way import rule of DESIGN.md: src -> projections|infra -> domain -> nothing of ours. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'domain/ imports nothing of ours outside domain/',
      from: { path: '^domain/' },
      to: { path: '^(src|projections|infra|test)/' },
    },
    {
      name: 'domain-no-io-or-framework',
      severity: 'error',
      comment: 'domain/ does no I/O and uses no framework',
      from: { path: '^domain/', pathNot: '\\.spec\\.ts$' },
      to: {
        path: '(^|/)node_modules/(@nestjs|typeorm|kafkajs|@eventstore|@kurrent|cdktf|cdktn|better-sqlite3|pg|cli-progress|commander)/|^(fs|net|http|https|child_process|worker_threads|dgram|dns|tls|cluster)$',
      },
    },
    {
      name: 'domain-no-node-io',
      severity: 'error',
      from: { path: '^domain/', pathNot: '\\.spec\\.ts$' },
      to: { dependencyTypes: ['core'], pathNot: '^(crypto|node:crypto|buffer|node:buffer)$' },
    },
    {
      name: 'outer-layers-not-into-src',
      severity: 'error',
      comment: 'projections/ and infra/ may import domain/ only',
      from: { path: '^(projections|infra)/' },
      to: { path: '^(src|test)/' },
    },
    {
      name: 'projections-infra-independent',
      severity: 'error',
      from: { path: '^projections/' },
      to: { path: '^infra/' },
    },
    {
      name: 'infra-projections-independent',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: '^projections/' },
    },
    {
      name: 'one-adapter-per-client',
      severity: 'error',
      comment: 'each external client stays behind its one adapter module',
      from: { pathNot: '^src/bus/kafka-bus\\.ts$' },
      to: { path: '(^|/)node_modules/kafkajs/' },
    },
    {
      name: 'one-adapter-per-client-pg',
      severity: 'error',
      from: { pathNot: '^src/eventstore/postgres-event-store\\.ts$' },
      to: { path: '(^|/)node_modules/pg/' },
    },
    {
      name: 'one-adapter-per-client-sqlite',
      severity: 'error',
      from: { pathNot: '^src/eventstore/sqlite-event-store\\.ts$' },
      to: { path: '(^|/)node_modules/better-sqlite3/' },
    },
    {
      name: 'one-adapter-per-client-esdb',
      severity: 'error',
      from: { pathNot: '^src/eventstore/eventstoredb-(event-store|mapping)\\.ts$' },
      to: { path: '(^|/)node_modules/@eventstore/' },
    },
    {
      name: 'one-adapter-per-client-typeorm',
      severity: 'error',
      comment: "TypeORM is the read models' client: only projections/ uses it",
      from: { pathNot: '^projections/' },
      to: { path: '(^|/)node_modules/typeorm/' },
    },
    {
      name: 'one-adapter-per-client-cdk',
      severity: 'error',
      comment: 'Terraform CDK (cdktn, or cdktf) and constructs stay behind infra/plans/cdk.ts',
      from: { pathNot: '^infra/plans/cdk\\.ts$' },
      to: { path: '(^|/)node_modules/(cdktn|cdktf|constructs)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    exclude: { path: '^dist/' },
  },
};
