-- restore_student_socket: after a loss, a node puts back one StudentWeb socket it holds
-- (PresenceStore.restoreSockets).
-- KEYS: 1 directory, 2 lesson_student_{lesson} (only when ARGV[7] names a lesson)
-- ARGV: 1 deadline, 2 user, 3 sid, 4 org, 5 role, 6 lesson TTL s, 7 its lesson ('' for none)
-- Reply: 0 (students have no session to create)
local lesson = ARGV[7] ~= '' and ARGV[7] or nil
if redis.call('EXISTS', KEYS[1]) == 0 then
  write_directory(KEYS[1], ARGV[3], ARGV[2], ARGV[5], ARGV[4], lesson)
end
if lesson and redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then
  set_member(KEYS[2], ARGV[2], ARGV[3], ARGV[6])
end
return 0
