// The access check of the OTLP gRPC receiver: the same credential and tenant rules as
// the HTTP listeners' hook (access.ts), answered with gRPC codes.
import { status as GrpcCode, type Metadata } from '@grpc/grpc-js';
import { TENANT_HEADER } from '../lib/tenant.js';
import { isFailure, type Authenticator } from './authenticator.js';
import { OPEN_ACCESS, type Principal } from './principal.js';
import { resolveTenants } from './tenancy.js';
import { countRefusal } from './metrics.js';
import type { RefusalStatus } from './access.js';
import { OverloadError } from '../lib/errors.js';
import type { Logger } from '../telemetry/logger.js';

export type CallAccess = { principal: Principal; tenant: string } | { code: GrpcCode; details: string; status: RefusalStatus };

const CODES = { 400: GrpcCode.INVALID_ARGUMENT, 401: GrpcCode.UNAUTHENTICATED, 403: GrpcCode.PERMISSION_DENIED, 503: GrpcCode.UNAVAILABLE } as const;

/** Who sent an Export call and for which tenant, or the status refusing it. */
export async function authorizeExport(authenticator: Authenticator, metadata: Metadata, logger: Logger): Promise<CallAccess> {
  let principal = OPEN_ACCESS;
  const refuse = (status: keyof typeof CODES, details: string, who?: Principal): CallAccess => {
    countRefusal('otlp_grpc', status);
    logger.info({ listener: 'otlp_grpc', status, subject: who?.subject, reason: details }, 'request refused');
    return { code: CODES[status], details, status };
  };
  if (authenticator.modes.length > 0) {
    const values = metadata.get('authorization');
    let result;
    try {
      result = await authenticator.authenticate({ authorization: values.length === 1 ? String(values[0]) : undefined });
    } catch (err) {
      // The identity provider is unreachable: UNAVAILABLE, which OTLP exporters retry.
      if (err instanceof OverloadError) return refuse(503, err.message);
      throw err;
    }
    if (isFailure(result)) return refuse(result.status, result.message);
    principal = result;
    if (!principal.rights.has('write')) return refuse(403, 'this credential lacks the write right', principal);
  }
  const headerValues = metadata.get(TENANT_HEADER).map(String);
  const resolved = resolveTenants(headerValues.length > 1 ? headerValues : headerValues[0], principal, false);
  if ('status' in resolved) return refuse(resolved.status, resolved.message, principal);
  return { principal, tenant: resolved.tenants[0]! };
}
