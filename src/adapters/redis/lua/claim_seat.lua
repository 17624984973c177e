-- claim_seat: students take seats, each by the rule of claimSeat in src/domain/seat-map.ts
-- (PresenceStore.claimSeat). One call serves the claims made together, one after the other, as
-- that many calls would.
-- KEYS: per claim i = 0, 1, …: 2i+1 lesson_student, 2i+2 lesson_seat
-- ARGV: 1 deadline, then per claim i: 3i+2 student, 3i+3 sid, 3i+4 seat
-- Reply: per claim, in order: {'not_in_lesson'} | {'needs_seat_map'} | {'seat_not_found'} |
--        {'seat_taken'} | {'held', ''} | {'claimed', released seat or ''} |
--        {'failed', Redis' error} (a key of the wrong type: that claim's error, not the others')
local function claim(students, seat_map, student, sid, seat)
  if redis.call('HGET', students, student) ~= sid then return { 'not_in_lesson' } end
  if redis.call('EXISTS', seat_map) == 0 then return { 'needs_seat_map' } end
  local holder = redis.call('HGET', seat_map, seat)
  if not holder then return { 'seat_not_found' } end
  if holder == student then return { 'held', '' } end
  if holder ~= '' then return { 'seat_taken' } end
  local released = ''
  local seats = redis.call('HGETALL', seat_map)
  for i = 1, #seats, 2 do
    if seats[i + 1] == student then
      redis.call('HSET', seat_map, seats[i], '')
      released = seats[i]
    end
  end
  redis.call('HSET', seat_map, seat, student)
  return { 'claimed', released }
end

local replies = {}
for i = 0, #KEYS / 2 - 1 do
  local done, reply =
    pcall(claim, KEYS[2 * i + 1], KEYS[2 * i + 2], ARGV[3 * i + 2], ARGV[3 * i + 3], ARGV[3 * i + 4])
  if not done then
    reply = { 'failed', type(reply) == 'table' and reply.err or tostring(reply) }
  end
  replies[i + 1] = reply
end
return replies
