// Types of planfuse-host (see index.js).
export declare const VERSION: string;
export declare const AUDIENCE: string;
export declare const RESULT_ISSUER: string;
export declare const RESULT_TYPE: string;
export declare const TOKEN_TTL_S: number;
export declare const JWKS_TTL_MS: number;
export declare const WEBHOOK_TOLERANCE_S: number;

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: Array<{ field?: string; message?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

export declare class PlanFuseError extends Error {
  status: number;
  code: string;
  detail: string;
  errors: Problem['errors'];
  problem: Problem;
}
export declare class InvalidResult extends Error {}
export declare class InvalidWebhook extends Error {}

/** The signed `report` claim of a compliance result. */
export interface SignedReport {
  id: string;
  created_at: string;
  verdict: 'pass' | 'warn' | 'fail' | 'needs_review' | 'needs_approval';
  project_area_m2: number;
  project_id: string | null;
  land_use: string;
  project_type: string;
  crs: string;
  geometry_sha256: string;
  ruleset: { id: string; version: number };
  data_versions: Record<string, unknown>;
  items: Array<{ rule: string; status: string; overlap_area_m2: number; overlap_ratio: number; feature_count: number }>;
}

export interface MintOptions {
  widget: string;
  params?: Record<string, unknown>;
  name?: string;
  dept?: string;
  roles?: string[];
  locale?: 'zh-CN' | 'en';
  ttlSeconds?: number;
}

export declare class PlanFuse {
  constructor(options: { server: string; appId: string; secret: string; audience?: string; timeoutMs?: number; jwksTtlMs?: number });
  static fromEnv(env?: Record<string, string | undefined>, options?: { audience?: string; timeoutMs?: number; jwksTtlMs?: number }): PlanFuse;
  mintToken(userId: string, options: MintOptions): string;
  verifyResult(signedResult: string, options?: { leewaySeconds?: number }): Promise<SignedReport>;
  call<T = any>(method: string, path: string, body?: unknown, options?: { query?: Record<string, string | number | undefined | null> }): Promise<T>;
}

export declare function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined> | Headers,
  body: string | Buffer,
  options?: { toleranceSeconds?: number; now?: number },
): any;
