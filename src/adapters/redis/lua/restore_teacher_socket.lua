-- restore_teacher_socket: after a loss, a node puts back one TeacherApp socket it holds
-- (PresenceStore.restoreSockets sends one call per socket in a pipeline).
-- KEYS: 1 alive, 2 directory, 3 org presence index, 4 live sockets, 5 deadlines,
--       6 lesson_teacher_{lesson} (only when ARGV[11] names a lesson)
-- ARGV: 1 deadline, 2 user, 3 sid, 4 org, 5 role, 6 now ms, 7 presence TTL s,
--       8 deadlines member, 9 lesson TTL s, 10 the socket's epoch, 11 its lesson ('' for none)
-- Reply: 1 when it created the teacher's session, else 0
local lesson = ARGV[11] ~= '' and ARGV[11] or nil
if redis.call('EXISTS', KEYS[2]) == 0 then
  write_directory(KEYS[2], ARGV[3], ARGV[2], ARGV[5], ARGV[4], lesson)
end
if lesson and redis.call('HEXISTS', KEYS[6], ARGV[2]) == 0 then
  set_member(KEYS[6], ARGV[2], ARGV[3], ARGV[9])
end
local created = 0
if not read_session(KEYS[3], ARGV[2]) then
  write_session(KEYS[3], ARGV[2], {
    state = 'connect', login_time = tonumber(ARGV[10]), since_ms = tonumber(ARGV[6]), lesson_id = lesson,
  })
  created = 1
end
keep_live()
return created
