-- claim_seat: students take seats, each by the rule of claimSeat in src/domain/seat-map.ts
-- (PresenceStore.claimSeat). Batched (`serve_each` in lib.lua): one call serves the claims made
-- together.
-- KEYS: per claim: lesson_student, lesson_seat
-- ARGV: 1 deadline, then per claim: 2 (its number of KEYS), student, sid, seat
-- Reply: per claim, in order: {'not_in_lesson'} | {'needs_seat_map'} | {'seat_not_found'} |
--        {'seat_taken'} | {'held', ''} | {'claimed', released seat or ''} | {'failed', error}
return serve_each(4, function(keys, args)
  local students, seat_map, student, sid, seat = keys[1], keys[2], args[1], args[2], args[3]
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
end)
