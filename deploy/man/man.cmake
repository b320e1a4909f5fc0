# The man pages memoryguard(1) and memoryguard.yaml(5), made from README.md by
# mkman.py (python3, standard library only) and installed in share/man.
# tests/deploy/man.cmake checks them against the binary and the loader.
option(MEMORYGUARD_MAN "Make and install the man pages (needs python3)" ON)
if(NOT MEMORYGUARD_MAN)
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(FATAL_ERROR "The man pages are made with python3, which is missing: install it "
    "(apt-get install python3), or configure with -DMEMORYGUARD_MAN=OFF to go without them")
endif()

set(MEMORYGUARD_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(MEMORYGUARD_MAN_PAGES ${MEMORYGUARD_MAN_DIR}/memoryguard.1 ${MEMORYGUARD_MAN_DIR}/memoryguard.yaml.5)
add_custom_command(OUTPUT ${MEMORYGUARD_MAN_PAGES}
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/mkman.py
    ${CMAKE_SOURCE_DIR}/README.md ${PROJECT_VERSION} ${MEMORYGUARD_MAN_DIR}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/mkman.py ${CMAKE_SOURCE_DIR}/README.md
  COMMENT "Making the man pages from README.md")
add_custom_target(man ALL DEPENDS ${MEMORYGUARD_MAN_PAGES})
install(FILES ${MEMORYGUARD_MAN_DIR}/memoryguard.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${MEMORYGUARD_MAN_DIR}/memoryguard.yaml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
