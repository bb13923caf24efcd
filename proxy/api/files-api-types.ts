/**
 * The files API's types and paths live in the shared contract module (contract/files-api.ts),
 * which the element imports too; the sidecar's modules keep importing them from here.
 */
export * from '../../contract/files-api.ts';
