import path from 'node:path';
import { SidecarError } from '../errors.ts';

/**
 * Enterprise Gateway on Kubernetes: each kernel pod mounts exactly its own chat's folder of a
 * read-write-many claim that the sidecar mounts whole as its workspace root.
 *
 * Enterprise Gateway 3.x takes `KERNEL_VOLUMES` and `KERNEL_VOLUME_MOUNTS` from the kernel-create
 * request's `env`, parses each with `yaml.safe_load` (it must be a list of mappings, else the launch
 * stops) and renders every item into its stock kernel-pod template's `volumes` and the container's
 * `volumeMounts`; `KERNEL_WORKING_DIR` becomes the container's `workingDir` when the gateway runs
 * with `EG_MIRROR_WORKING_DIRS=true`. Its kernel handler refuses (400) any `KERNEL_*` value longer
 * than 4,096 characters or holding `$`, a backtick, a newline, a CR or a NUL.
 */

/** The operator's claim: its name, and where the sidecar's workspace root lies inside it. */
export interface KernelVolume {
  claimName: string;
  /** The workspace root's path inside the claim ('' when the claim's root is the workspace root). */
  subPath: string;
}

/** The volume's name inside the pod (any DNS label; one per pod). */
export const KERNEL_VOLUME_NAME = 'chat-workspace';

/** Enterprise Gateway's limits on a client's env values (its kernels handler). */
export const EG_MAX_ENV_VALUE_LENGTH = 4096;
const EG_PROHIBITED_CHARS = /[$`\n\r\0]/;

/** Variables a client may not set itself: they would let it mount any folder of the claim, another chat's too. */
export const CLIENT_REFUSED_ENV = ['KERNEL_VOLUMES', 'KERNEL_VOLUME_MOUNTS'] as const;

/** Kubernetes' rule for a claim name (a DNS-1123 subdomain). */
export function isValidClaimName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);
}

/** A relative path inside the claim: plain segments, nothing Enterprise Gateway or a shell would refuse. */
export function isValidSubPath(subPath: string): boolean {
  if (subPath === '') return true;
  if (subPath.length > 1024 || EG_PROHIBITED_CHARS.test(subPath) || subPath.startsWith('/')) return false;
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  return subPath.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && !/[\\\u0000-\u001f\u007f]/.test(s));
}

export class KernelEnvRefusedError extends SidecarError<'ERR_KERNEL_ENV_REFUSED'> {
  constructor(message: string) {
    super('ERR_KERNEL_ENV_REFUSED', message);
  }
}

/** A client's own volume variables are refused whatever else it sends. */
export function refuseClientVolumes(env: Record<string, unknown>): void {
  for (const name of CLIENT_REFUSED_ENV) {
    if (Object.hasOwn(env, name)) {
      throw new KernelEnvRefusedError(
        `${name} is set by the sidecar: a kernel mounts its own chat's folder and nothing else. Remove it from the request's env.`,
      );
    }
  }
}

/**
 * The env entries that make the pod mount `<subPath>/<chatId>` of the claim at the kernel's
 * workspace path and start there. Each value is checked against Enterprise Gateway's rules; one
 * that breaks them (an overlong kernel path) throws rather than reach a gateway that would refuse it.
 */
export function kernelVolumeEnv(volume: KernelVolume, chatId: string, kernelPath: string): Record<string, string> {
  const volumes = [{ name: KERNEL_VOLUME_NAME, persistentVolumeClaim: { claimName: volume.claimName } }];
  const mounts = [
    { name: KERNEL_VOLUME_NAME, mountPath: kernelPath, subPath: path.posix.join(volume.subPath || '.', chatId) },
  ];
  const env = {
    KERNEL_VOLUMES: JSON.stringify(volumes),
    KERNEL_VOLUME_MOUNTS: JSON.stringify(mounts),
    KERNEL_WORKING_DIR: kernelPath,
  };
  for (const [name, value] of Object.entries(env)) {
    if (value.length > EG_MAX_ENV_VALUE_LENGTH || EG_PROHIBITED_CHARS.test(value)) {
      throw new SidecarError(
        'ERR_KERNEL_VOLUME_CONFIG',
        `${name} for this chat would break Enterprise Gateway's env rules (at most ${EG_MAX_ENV_VALUE_LENGTH} characters; no $, backtick, newline, CR or NUL): shorten --kernel-workspace-root or --kernel-volume-sub-path.`,
      );
    }
  }
  return env;
}
