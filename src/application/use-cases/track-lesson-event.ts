import type { ClientIdentity } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Analytics, AnalyticsEvent } from '../ports/analytics.js';
import type { Clock } from '../ports/clock.js';
import type { IdSource } from '../ports/id-source.js';

/** Tracks a lesson member's `reconnect` or `disconnect` (PROTOCOL §9). */
export function trackLessonEvent(
  deps: { readonly analytics: Analytics; readonly clock: Clock; readonly ids: IdSource },
  name: AnalyticsEvent['name'],
  identity: ClientIdentity,
  lessonId: Id,
): Promise<void> {
  return deps.analytics.track({
    name,
    distinctId: identity.userId,
    lessonId,
    orgId: identity.orgId,
    role: identity.role,
    client: identity.kind,
    timeMs: deps.clock.nowMs(),
    insertId: deps.ids.next(),
  });
}
