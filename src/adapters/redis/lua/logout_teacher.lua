-- logout_teacher: every device of the teacher is logged out (PresenceStore.logoutTeacher).
-- KEYS: 1 alive, 2 org presence index, 3 live sockets, 4 deadlines
-- ARGV: 1 deadline, 2 user, 3 deadlines member
-- Reply: 1 when the teacher had a session, else 0
local had = redis.call('HDEL', KEYS[2], ARGV[2]) + redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[3])
return had > 0 and 1 or 0
