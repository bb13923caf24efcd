export interface KernelChat {
  chatId: string;
  owner: string | null;
  createdAt: string;
  /** Started by the MCP server as the chat's tool kernel (one per chat; see toolKernelOf). */
  tool?: boolean;
}

/**
 * Which chat each kernel belongs to, so its WebSocket and later calls land in the same chat
 * even when they carry no chat id, on whichever sidecar they arrive. Two implementations, both
 * in storage/ and both opened by `storage/open-stores.ts`: `FileKernelChats` (`{dataDir}/kernels.json`)
 * and `PgKernelChats` (PostgreSQL, with its spool for outages).
 */
export interface KernelChatStore {
  get(kernelId: string): Promise<KernelChat | undefined>;
  set(kernelId: string, entry: KernelChat): Promise<void>;
  delete(kernelId: string): Promise<void>;
  /** The chat's tool kernel (the newest, should two sidecars have started one each), so any sidecar finds it. */
  toolKernelOf(chatId: string): Promise<string | undefined>;
  /** Every pairing (migrate-store copies them). */
  entries(): Promise<Array<[string, KernelChat]>>;
  close(): Promise<void>;
}
