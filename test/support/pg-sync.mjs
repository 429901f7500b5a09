// Synchronous PostgreSQL access for the e2e helpers (TempProject.query, storageDigest,
// checkpoints), run as a child process: `node pg-sync.mjs <json request>`, JSON reply on stdout.
import pg from "pg";

const request = JSON.parse(process.argv[2]);
// Values as the SQLite warehouse returns them, so the same expectations hold on both:
// bigint as a number, json as its text, booleans as 0/1.
const parsers = { 20: Number, 1700: Number, 114: (text) => text, 16: (text) => (text === "t" ? 1 : 0) };
const types = { getTypeParser: (oid, format) => parsers[oid] ?? pg.types.getTypeParser(oid, format) };
const client = new pg.Client({ connectionString: request.url, types });
await client.connect();
try {
  process.stdout.write(JSON.stringify(await run(request)));
} finally {
  await client.end();
}

async function run(request) {
  switch (request.op) {
    case "query":
      await client.query(`set search_path to ${request.schema}`);
      return (await client.query(request.sql)).rows;
    case "exec":
      if (request.schema) await client.query(`set search_path to ${request.schema}`);
      await client.query(request.sql);
      return null;
    case "digest": {
      // Every row of every table and the definition of every view, in a canonical order.
      const parts = [];
      for (const schema of request.schemas) {
        const relations = await client.query(
          "select table_name, table_type from information_schema.tables where table_schema = $1 order by table_name",
          [schema],
        );
        for (const { table_name: name, table_type: type } of relations.rows) {
          const text =
            type === "VIEW"
              ? (await client.query("select pg_get_viewdef($1::regclass) as t", [`${schema}."${name}"`])).rows[0].t
              : (await client.query(`select coalesce(string_agg(t::text, E'\\n' order by t::text), '') as t from ${schema}."${name}" t`)).rows[0].t;
          parts.push(`${schema}.${name} ${type}\n${text}`);
        }
      }
      return parts.join("\n\n");
    }
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}
