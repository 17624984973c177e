-- claim_seat: a student takes a seat, by the rule of claimSeat in src/domain/seat-map.ts
-- (PresenceStore.claimSeat).
-- KEYS: 1 lesson_student, 2 lesson_seat
-- ARGV: 1 deadline, 2 student, 3 sid, 4 seat
-- Reply: {'not_in_lesson'} | {'needs_seat_map'} | {'seat_not_found'} | {'seat_taken'} |
--        {'held', ''} | {'claimed', released seat or ''}
if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[3] then return { 'not_in_lesson' } end
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'needs_seat_map' } end
local holder = redis.call('HGET', KEYS[2], ARGV[4])
if not holder then return { 'seat_not_found' } end
if holder == ARGV[2] then return { 'held', '' } end
if holder ~= '' then return { 'seat_taken' } end
local released = ''
local seats = redis.call('HGETALL', KEYS[2])
for i = 1, #seats, 2 do
  if seats[i + 1] == ARGV[2] then
    redis.call('HSET', KEYS[2], seats[i], '')
    released = seats[i]
  end
end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[2])
return { 'claimed', released }
