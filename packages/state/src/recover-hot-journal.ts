import { existsSync } from "node:fs";
import Database from "better-sqlite3";

/**
 * A writer killed while switching journal modes (reflow's stores leave WAL
 * mode when they close) leaves a hot rollback journal, which only a
 * read-write connection may roll back: a read-only one fails with "attempt to
 * write a readonly database". A read-write connection rolls it back on its
 * first read, restoring the last committed state, as the next writer would.
 * Call it before opening a SQLite file read-only.
 */
export function recoverHotJournal(file: string): void {
  if (existsSync(`${file}-journal`)) recoverAfterCrash(file);
}

/**
 * Lets SQLite recover what a killed writer left (roll back a hot journal,
 * rebuild a write-ahead log's index) with a short read-write open and read:
 * what was committed stays, nothing else changes.
 */
export function recoverAfterCrash(file: string): void {
  const recovering = new Database(file, { fileMustExist: true });
  try {
    recovering.pragma("busy_timeout = 10000");
    recovering.prepare("select count(*) from sqlite_master").get();
  } finally {
    recovering.close();
  }
}
