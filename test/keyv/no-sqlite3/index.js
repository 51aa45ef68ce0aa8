throw new Error(
  'sqlite3 is not installed here: test/keyv/no-sqlite3 stands in for it (see its package.json)',
);
