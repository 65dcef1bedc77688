# Writes meridian.1 with help2man: the top-level --help, then each command's --help as a
# section of its own. cmake -DBINARY=... -DHELP2MAN=... -DOUTPUT=... -P man_page.cmake
set(include_file ${OUTPUT}.include)
set(text "[SEE ALSO]\nThe README (/usr/share/doc/meridian/README.md) describes every file format.\n")
string(APPEND text "JSON Schemas for editors: /usr/share/meridian/schema/.\n\n[COMMANDS]\n")
foreach(command serve check reload status explain "zone import" "geodata build")
  separate_arguments(args UNIX_COMMAND "${command}")
  execute_process(COMMAND ${BINARY} ${args} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BINARY} ${command} --help exited ${rc}")
  endif()
  string(REPLACE "${BINARY}" "meridian" help "${help}")
  string(REPLACE "\\" "\\\\" help "${help}")
  string(REPLACE "\n-" "\n\\-" help "${help}")
  string(APPEND text ".SS \"meridian ${command}\"\n.nf\n${help}.fi\n")
endforeach()
file(WRITE ${include_file} "${text}")
execute_process(COMMAND ${HELP2MAN} --no-info --no-discard-stderr
                        --name "authoritative GeoDNS and DNS-failover server"
                        --include ${include_file} --output ${OUTPUT} ${BINARY}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man exited ${rc}")
endif()
