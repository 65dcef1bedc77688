// Splits one CSV line into fields, remembering where each starts so errors can
// point at it. Quoting follows RFC 4180 within a line ("São Paulo, SP" and ""
// for a literal quote); unquoted fields lose surrounding blanks.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace meridian::geo {

struct CsvField {
  std::string text;
  unsigned column = 1;  // 1-based, in characters (UTF-8 code points)
};

struct CsvLine {
  std::vector<CsvField> fields;
  std::string error;  // empty when the line split cleanly
  unsigned error_column = 0;
  unsigned end_column = 1;  // column just past the last character
};

CsvLine split_csv_line(std::string_view line);

// Column (1-based, in characters) of byte offset `offset` within line.
unsigned column_of(std::string_view line, std::size_t offset);

}  // namespace meridian::geo
