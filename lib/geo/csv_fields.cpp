#include "geo/csv_fields.hpp"

namespace meridian::geo {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::size_t skip_blanks(std::string_view line, std::size_t pos) {
  while (pos < line.size() && is_blank(line[pos])) ++pos;
  return pos;
}

}  // namespace

unsigned column_of(std::string_view line, std::size_t offset) {
  unsigned column = 1;
  for (std::size_t i = 0; i < offset && i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++column;  // not a UTF-8 continuation byte
  }
  return column;
}

CsvLine split_csv_line(std::string_view line) {
  CsvLine result;
  result.end_column = column_of(line, line.size());
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = skip_blanks(line, pos);
    CsvField field;
    field.column = column_of(line, start);
    if (start < line.size() && line[start] == '"') {
      std::size_t i = start + 1;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.text += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field.text += line[i++];
      }
      if (!closed) {
        result.error = "unterminated quoted field";
        result.error_column = field.column;
        return result;
      }
      pos = skip_blanks(line, i);
      if (pos < line.size() && line[pos] != ',') {
        result.error = "unexpected text after a closing quote";
        result.error_column = column_of(line, pos);
        return result;
      }
    } else {
      pos = line.find(',', start);
      if (pos == std::string_view::npos) pos = line.size();
      std::size_t end = pos;
      while (end > start && is_blank(line[end - 1])) --end;
      field.text = std::string(line.substr(start, end - start));
    }
    result.fields.push_back(std::move(field));
    if (pos >= line.size()) return result;
    ++pos;  // past the comma
  }
}

}  // namespace meridian::geo
