// GPT-2's byte-level alphabet: every byte is shown as one printable Unicode
// character so that BPE vocabularies can be stored as text. Printable bytes
// ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for themselves; the other
// 68 bytes map, in byte order, to U+0100, U+0101, ... (so ' ' is 'Ġ' U+0120).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace apr::tokenizer {

// Code point that stands for each byte.
const std::array<char32_t, 256>& byte_level_alphabet();

// The byte-level text of raw bytes (each byte becomes its character, UTF-8 encoded).
std::string byte_level_encode(std::string_view bytes);

// Appends the bytes that the byte-level text `piece` stands for. Returns false,
// appending nothing, when some character of it is not in the alphabet.
bool byte_level_decode(std::string_view piece, std::string& out);

}  // namespace apr::tokenizer
