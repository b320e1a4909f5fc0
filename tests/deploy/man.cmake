# The man pages (deploy/man/man.cmake) against the flags of the binary and the
# keys of its config loader, and through groff and man -l.
if(NOT MEMORYGUARD_INSTALL_DATA OR NOT MEMORYGUARD_MAN)
  return()
endif()
add_test(NAME deploy_man_pages
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/man_pages_test.py
    $<TARGET_FILE:memoryguard> ${MEMORYGUARD_MAN_DIR})
set_tests_properties(deploy_man_pages PROPERTIES LABELS deploy TIMEOUT 120)
