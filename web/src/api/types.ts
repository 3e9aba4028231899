import type { Role } from './client.ts';

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface User {
  id: string;
  email: string;
  username: string;
  full_name: string | null;
  role: Role;
  is_active: boolean;
  created_at: string;
  last_login_at: string | null;
}

export interface Scored {
  label: string;
  confidence: number;
}

export interface Classification {
  prediction_id: string;
  species: string | null;
  scientific_name: string | null;
  label: string;
  confidence: number;
  status: 'ok' | 'unknown';
  unknown_reason?: string;
  top_k: Scored[];
  ood_score: number;
  model: { name: string; version: number; route: string };
  inference_ms: number;
  cached: boolean;
  health?: {
    status: 'ok' | 'unknown';
    condition: string | null;
    confidence: number;
    top_k: Scored[];
    model: { name: string; version: number };
  };
}

export interface KnownSpecies {
  label: string;
  scientific_name: string | null;
  common_name: string | null;
}

export interface StoredPrediction {
  id: string;
  created_at: string;
  species: string | null;
  label: string;
  confidence: number;
  status: string;
  top_k: Scored[];
  model: { name: string; version: number };
  unit_id: string | null;
  device_id: string | null;
  inference_ms: number;
  source: string;
  has_image?: boolean;
  feedback: { label: string; note: string | null; at: string } | null;
}

export interface ModelVersion {
  name: string;
  version: number;
  task: string;
  state: 'ready' | 'archived';
  source: string;
  aliases: string[];
  labels: string[];
  metrics: Record<string, unknown>;
  created_at: string;
}

export interface Traffic {
  model: string;
  split: { target: string; weight: number }[];
  shadow: string | null;
  sticky: boolean;
}

export interface ActiveModel {
  model: string;
  champion: number | null;
  challenger: number | null;
  traffic: Traffic;
}

export interface VersionStats {
  name: string;
  version: number;
  since: string;
  requests: number;
  errors: number;
  unknown_rate: number | null;
  cache_hit_ratio: number | null;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  queue_ms: { p50: number | null; p95: number | null };
  mean_batch_size: number | null;
  confidence: { mean: number | null; histogram: number[] };
  shadow: { compared: number; agreement: number | null };
  feedback: { count: number; accuracy: number | null };
  drift: { samples: number; psi: Record<string, number | null>; drifted: boolean } | null;
}

export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Task {
  id: string;
  type: string;
  state: TaskState;
  progress: number;
  progress_note: string | null;
  result: unknown;
  error: string | null;
  attempts: number;
  max_attempts: number;
  cancel_requested: boolean;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  timings: { queue_ms: number; run_ms: number | null };
  user_id: string | null;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  key?: string;
}

export interface AuditEntry {
  id: number;
  created_at: string;
  action: string;
  outcome: 'success' | 'failure';
  actor: {
    user_id: string | null;
    api_key_id: string | null;
    name: string | null;
    ip: string | null;
  };
  target: { type: string | null; id: string | null } | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

export interface HealthDetailed {
  status: string;
  role: string;
  version: string;
  uptime_s: number;
  components: Record<
    string,
    { status: 'ok' | 'degraded' | 'down'; latency_ms: number; error?: string }
  >;
}

export interface Performance {
  latency_mean_ms: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_p99_ms: number;
  throughput_rps: number;
  error_rate: number;
  total_requests: number;
  uptime_seconds: number;
}

// Farm monitoring (issue 10 contract).
export interface Farm {
  id: string;
  name: string;
  location?: string | null;
  [key: string]: unknown;
}

export interface Unit {
  id: string;
  farm_id?: string;
  name: string;
  kind: string;
  species?: string | null;
  volume_m3?: number | null;
  stocked_count?: number | null;
  [key: string]: unknown;
}

export interface Alert {
  id: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'open' | 'acknowledged' | 'resolved';
  unit_id: string | null;
  farm_id?: string | null;
  metric: string | null;
  message?: string | null;
  value?: number | null;
  opened_at: string;
  acknowledged_at?: string | null;
  acknowledged_by?: string | null;
  resolved_at?: string | null;
  [key: string]: unknown;
}

export interface ReadingPoint {
  ts: string;
  min: number;
  max: number;
  mean: number;
  count: number;
}
