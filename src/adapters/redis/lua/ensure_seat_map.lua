-- ensure_seat_map: creates a lesson's seat map unless one exists (PresenceStore.ensureSeatMap).
-- KEYS: 1 lesson_seat
-- ARGV: 1 deadline, 2 lesson TTL s, 3 seat map JSON
-- Reply: 1 when it created the map, else 0
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
create_seat_map(KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
