# Runs at install time (deploy/install.cmake), when the prefix is known: the
# systemd unit with this prefix's paths, and the two files an operator edits,
# which are never overwritten.

# A directory relative to the prefix, or absolute as given.
function(mg_full_dir dir out)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

# GNUInstallDirs' rule: the prefix /usr keeps its configuration in /etc.
if(NOT IS_ABSOLUTE "${MG_SYSCONFDIR}" AND CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(MG_SYSCONFDIR /etc)
endif()
mg_full_dir("${MG_SYSCONFDIR}" etc)
mg_full_dir("${MG_BINDIR}" bindir)
mg_full_dir("${MG_UNIT_DIR}" unitdir)

# The unit in deploy/systemd is written for /usr/local/bin and /etc (the
# README's install by hand); each of those paths must be there to be replaced.
file(READ "${MG_SOURCE_DIR}/deploy/systemd/memoryguard.service" unit)
foreach(pair
    "ExecStart=/usr/local/bin/memoryguard |ExecStart=${bindir}/memoryguard "
    "=/etc/memoryguard/memoryguard.yaml|=${etc}/memoryguard/memoryguard.yaml"
    "EnvironmentFile=-/etc/default/memoryguard|EnvironmentFile=-${etc}/default/memoryguard")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 from)
  list(GET pair 1 to)
  string(FIND "${unit}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "deploy/systemd/memoryguard.service has no '${from}' to point at this prefix")
  endif()
  string(REPLACE "${from}" "${to}" unit "${unit}")
endforeach()
file(WRITE "${MG_BINARY_DIR}/install/memoryguard.service" "${unit}")
file(INSTALL DESTINATION "${unitdir}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${MG_BINARY_DIR}/install/memoryguard.service")

# An operator's config is never overwritten, as dpkg keeps a conffile: an
# install over an existing one keeps it and says where the new example is.
foreach(pair
    "config/memoryguard.yaml|${etc}/memoryguard|memoryguard.yaml"
    "deploy/systemd/memoryguard.default|${etc}/default|memoryguard")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 source)
  list(GET pair 1 dir)
  list(GET pair 2 name)
  if(EXISTS "$ENV{DESTDIR}${dir}/${name}")
    message(STATUS "Kept: $ENV{DESTDIR}${dir}/${name} (it exists; the file this release ships is ${MG_SOURCE_DIR}/${source})")
  else()
    file(INSTALL DESTINATION "${dir}" TYPE FILE RENAME "${name}"
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
      FILES "${MG_SOURCE_DIR}/${source}")
  endif()
endforeach()
