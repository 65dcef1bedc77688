# install() rules and a Debian package (cpack -G DEB): the binary, its man page (from
# --help, with help2man where installed), the systemd unit, the JSON Schemas and the
# demo files as examples. `ctest -R package_deb` builds the package and checks it.
include(GNUInstallDirs)

install(TARGETS meridian RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names /usr/local/bin/meridian (a hand install); the installed one names the
# installed binary, under the prefix in force at install time (cpack's /usr included).
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/deploy/meridian.service\" unit)
  string(REPLACE /usr/local/bin/meridian \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/meridian\" unit \"\${unit}\")
  set(target \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/meridian.service\")
  message(STATUS \"Installing: \${target}\")
  file(WRITE \"\${target}\" \"\${unit}\")
")

install(DIRECTORY ${PROJECT_SOURCE_DIR}/schema/ DESTINATION ${CMAKE_INSTALL_DATADIR}/meridian/schema
        FILES_MATCHING PATTERN "*.schema.json")
# The demo as a working example: meridian check --config .../examples/meridian.json passes.
set(MERIDIAN_EXAMPLES ${CMAKE_INSTALL_DATADIR}/meridian/examples)
install(FILES ${PROJECT_SOURCE_DIR}/meridian.json DESTINATION ${MERIDIAN_EXAMPLES})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/zones ${PROJECT_SOURCE_DIR}/health ${PROJECT_SOURCE_DIR}/geodata
        DESTINATION ${MERIDIAN_EXAMPLES})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/container.json ${PROJECT_SOURCE_DIR}/deploy/MULTI-NODE.md
        DESTINATION ${MERIDIAN_EXAMPLES}/deploy)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The man page, generated from --help and each command's --help when help2man is installed.
find_program(MERIDIAN_HELP2MAN help2man)
if(MERIDIAN_HELP2MAN)
  set(MERIDIAN_MAN_PAGE ${PROJECT_BINARY_DIR}/man/meridian.1)
  add_custom_command(
    OUTPUT ${MERIDIAN_MAN_PAGE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:meridian> -DHELP2MAN=${MERIDIAN_HELP2MAN}
            -DOUTPUT=${MERIDIAN_MAN_PAGE} -P ${PROJECT_SOURCE_DIR}/cmake/man_page.cmake
    DEPENDS meridian ${PROJECT_SOURCE_DIR}/cmake/man_page.cmake
    COMMENT "Man page meridian.1 (help2man)")
  add_custom_target(man_page ALL DEPENDS ${MERIDIAN_MAN_PAGE})
  install(FILES ${MERIDIAN_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME meridian)
set(CPACK_PACKAGE_VENDOR meridian)
set(CPACK_PACKAGE_CONTACT "meridian maintainers <meridian@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "authoritative GeoDNS and DNS-failover server with an L4/L7 forwarding tier")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/meridian")
include(CPack)
