# What `cmake --install` lays out beside the binary: the layout of a package,
# which debian/rules installs through too. Every path follows the prefix of
# the install (`cmake --install build --prefix /usr`, or -DCMAKE_INSTALL_PREFIX
# when configuring) and DESTDIR:
#   bin/memoryguard                                   (CMakeLists.txt)
#   SYSCONFDIR/memoryguard/memoryguard.yaml           the example config, dry-run
#   SYSCONFDIR/default/memoryguard                    MEMORYGUARD_ARGS for the unit
#   lib/systemd/system/memoryguard.service            ExecStart and paths of this prefix
#   share/man/man1/memoryguard.1, man5/memoryguard.yaml.5       (deploy/man/man.cmake)
#   share/bash-completion/completions/memoryguard
#   share/memoryguard/dashboards/, prometheus/ (alert and recording rules, their
#     tests), examples/ (every config/*.yaml)
# SYSCONFDIR is /etc for the prefix /usr and PREFIX/etc otherwise, as
# GNUInstallDirs has it.
set(MEMORYGUARD_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
  "Where the systemd unit goes: relative to the prefix, or absolute (Debian 12: /lib/systemd/system)")

set(MG_SHARE ${CMAKE_INSTALL_DATADIR}/memoryguard)
install(FILES dashboards/memoryguard.json DESTINATION ${MG_SHARE}/dashboards)
install(FILES deploy/prometheus/alerts.yml deploy/prometheus/alerts_test.yml
  deploy/prometheus/kubernetes.rules.yml deploy/prometheus/kubernetes.rules_test.yml
  DESTINATION ${MG_SHARE}/prometheus)
# Pristine copies: the one in SYSCONFDIR is the operator's to edit.
install(FILES config/memoryguard.yaml config/oom-signals.yaml DESTINATION ${MG_SHARE}/examples)
install(FILES deploy/bash-completion/memoryguard
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# The unit and the two configs depend on the prefix, known only when
# installing: deploy/install_configs.cmake places them then.
install(CODE "
  set(MG_SOURCE_DIR [[${CMAKE_SOURCE_DIR}]])
  set(MG_BINARY_DIR [[${CMAKE_BINARY_DIR}]])
  set(MG_BINDIR [[${CMAKE_INSTALL_BINDIR}]])
  set(MG_SYSCONFDIR [[${CMAKE_INSTALL_SYSCONFDIR}]])
  set(MG_UNIT_DIR [[${MEMORYGUARD_SYSTEMD_UNIT_DIR}]])")
install(SCRIPT deploy/install_configs.cmake)
