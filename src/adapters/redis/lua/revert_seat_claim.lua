-- revert_seat_claim: takes a seat claim back (PresenceStore.revertSeatClaim).
-- KEYS: 1 lesson_seat
-- ARGV: 1 deadline, 2 student, 3 seat, 4 the seat it released ('' for none)
-- Reply: 1
if redis.call('HGET', KEYS[1], ARGV[3]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[3], '') end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], ARGV[4]) == '' then
  redis.call('HSET', KEYS[1], ARGV[4], ARGV[2])
end
return 1
