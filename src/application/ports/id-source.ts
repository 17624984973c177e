/** Unique ids for things the service names itself (analytics `$insert_id`). Seeded in the simulator. */
export interface IdSource {
  next(): string;
}
