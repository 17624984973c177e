-- refresh_teacher: keeps one TeacherApp socket live (PresenceStore.refreshTeachers sends one call
-- per socket in a pipeline).
-- KEYS: 1 alive, 2 directory, 3 org presence index, 4 live sockets, 5 deadlines
-- ARGV: 1 deadline, 2 user, 3 sid, 4 org, 5 role, 6 now ms, 7 presence TTL s, 8 deadlines member
-- Reply: 'refreshed' | 'reconnected' | 'ended' (see keep_live in lib.lua)
return keep_live()
