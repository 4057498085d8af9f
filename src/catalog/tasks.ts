// Glance's tasks as this catalog keeps them: one `api_image_import` task per `POST .../import`, with
// Glance's statuses (pending → processing → success | failure), its three views (the task, the list
// stub, and the raw record `GET /v2/images/{id}/tasks` shows) and its schemas.

/** Glance's task statuses, in the order a task goes through them. */
export const TASK_STATUSES = ['pending', 'processing', 'success', 'failure'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The task types Glance's schema names; this catalog creates only `api_image_import`. */
export const TASK_TYPES = ['import', 'api_image_import', 'location_import'] as const;

/** How long a finished task is kept visible, as Glance's `task_time_to_live` default (48 hours). */
export const TASK_TIME_TO_LIVE_MS = 48 * 3600 * 1000;

export interface ImportTask {
  id: string;
  type: 'api_image_import';
  status: TaskStatus;
  /** What was asked: `{image_id, import_req, backend}` as Glance records it. */
  input: Record<string, unknown> | null;
  /** `{image_id}` once the import succeeded. */
  result: Record<string, unknown> | null;
  /** Empty until there is something to say (on failure, why). */
  message: string;
  owner: string | null;
  image_id: string | null;
  request_id: string | null;
  user_id: string | null;
  created_at: string;
  updated_at: string;
  /** When a finished task may be forgotten; null while it runs. */
  expires_at: string | null;
}

export interface TaskListQuery {
  /** Only this project's tasks; null lists every project's (admins). */
  owner: string | null;
  status?: TaskStatus;
  type?: string;
  sortDir: 'asc' | 'desc';
  /** The last task of the previous page. */
  marker?: ImportTask;
  limit: number;
}

/** The full task, as `GET /v2/tasks/{id}` shows it. */
export function toTaskView(task: ImportTask): Record<string, unknown> {
  return {
    id: task.id,
    input: task.input,
    type: task.type,
    status: task.status,
    owner: task.owner,
    message: task.message,
    result: task.result,
    created_at: task.created_at,
    updated_at: task.updated_at,
    self: `/v2/tasks/${task.id}`,
    schema: '/v2/schemas/task',
    ...(task.image_id ? { image_id: task.image_id } : {}),
    ...(task.request_id ? { request_id: task.request_id } : {}),
    ...(task.user_id ? { user_id: task.user_id } : {}),
    ...(task.expires_at ? { expires_at: task.expires_at } : {}),
  };
}

/** A task in `GET /v2/tasks`: no input, result or message, as in Glance. */
export function toTaskStub(task: ImportTask): Record<string, unknown> {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    created_at: task.created_at,
    updated_at: task.updated_at,
    self: `/v2/tasks/${task.id}`,
    schema: '/v2/schemas/task',
    ...(task.expires_at ? { expires_at: task.expires_at } : {}),
  };
}

/**
 * A task in `GET /v2/images/{id}/tasks`: Glance returns its database rows there, timestamps in Python's
 * `isoformat()` (no zone), with `deleted` and `deleted_at`.
 */
export function toImageTaskView(task: ImportTask): Record<string, unknown> {
  const iso = (at: string | null) => (at === null ? null : at.replace(/Z$/, ''));
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    expires_at: iso(task.expires_at),
    created_at: iso(task.created_at),
    updated_at: iso(task.updated_at),
    deleted_at: null,
    deleted: false,
    image_id: task.image_id,
    request_id: task.request_id,
    user_id: task.user_id,
    input: task.input,
    result: task.result,
    message: task.message,
  };
}

const UUID_PATTERN =
  '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

function taskProperties(partial: boolean): Record<string, unknown> {
  const all: Record<string, unknown> = {
    id: { description: 'An identifier for the task', pattern: UUID_PATTERN, type: 'string' },
    type: {
      description: 'The type of task represented by this content',
      enum: [...TASK_TYPES],
      type: 'string',
    },
    status: { description: 'The current status of this task', enum: [...TASK_STATUSES], type: 'string' },
    input: { description: 'The parameters required by task, JSON blob', type: ['null', 'object'] },
    result: { description: 'The result of current task, JSON blob', type: ['null', 'object'] },
    owner: { description: 'An identifier for the owner of this task', type: 'string' },
    message: {
      description: 'Human-readable informative message only included when appropriate (usually on failure)',
      type: 'string',
    },
    image_id: { description: 'Image associated with the task', type: 'string' },
    request_id: { description: 'Human-readable informative request-id', type: 'string' },
    user_id: { description: 'User associated with the task', type: 'string' },
    expires_at: {
      description: 'Datetime when this resource would be subject to removal',
      type: ['null', 'string'],
    },
    created_at: { description: 'Datetime when this resource was created', type: 'string' },
    updated_at: { description: 'Datetime when this resource was updated', type: 'string' },
    self: { readOnly: true, type: 'string' },
    schema: { readOnly: true, type: 'string' },
  };
  if (partial) for (const key of ['input', 'result', 'message']) delete all[key];
  return all;
}

/** `GET /v2/schemas/task`. */
export function taskSchema(): Record<string, unknown> {
  return { name: 'task', properties: taskProperties(false), additionalProperties: false };
}

/** `GET /v2/schemas/tasks`: a list of task stubs. */
export function tasksSchema(): Record<string, unknown> {
  return {
    name: 'tasks',
    properties: {
      tasks: {
        type: 'array',
        items: { name: 'task', properties: taskProperties(true), additionalProperties: false },
      },
      schema: { type: 'string' },
      first: { type: 'string' },
      next: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}
