#include "delta/recompress.h"

#include <algorithm>
#include <cstring>

namespace ferry::delta::internal {

bool Reproduces(ByteSpan content, ByteSpan compressed, const DeflateParams& params) {
  std::size_t pos = 0;
  bool same = true;
  const bool complete = DeflateRaw(content, params, [&](ByteSpan chunk) {
    if (chunk.size() > compressed.size() - pos ||
        std::memcmp(chunk.data(), compressed.data() + pos, chunk.size()) != 0) {
      same = false;
      return false;
    }
    pos += chunk.size();
    return true;
  });
  return complete && same && pos == compressed.size();
}

ParamSearch::ParamSearch(bool exhaustive, int give_up_after)
    : exhaustive_(exhaustive), give_up_after_(give_up_after) {}

std::vector<DeflateParams> ParamSearch::Candidates(int level_hint) const {
  std::vector<int> levels;
  if (level_hint >= 1 && level_hint <= 9) levels.push_back(level_hint);
  for (int l : {6, 9, 1, 5, 4, 7, 8, 2, 3}) {
    if (l != level_hint) levels.push_back(l);
  }
  std::vector<int> mem_levels = {8, 9};
  std::vector<DeflateStrategy> strategies = {DeflateStrategy::kDefault, DeflateStrategy::kFiltered};
  std::vector<int> window_bits = {15};
  if (exhaustive_) {
    for (int m = 7; m >= 1; --m) mem_levels.push_back(m);
    strategies.push_back(DeflateStrategy::kFixed);
    for (int w = 14; w >= 9; --w) window_bits.push_back(w);
  }
  std::vector<DeflateParams> out;
  for (int w : window_bits) {
    for (int m : mem_levels) {
      for (DeflateStrategy s : strategies) {
        for (int l : levels) {
          for (DeflateFlavor f : {DeflateFlavor::kChromium, DeflateFlavor::kZlib}) {
            out.push_back({f, l, m, s, w});
          }
        }
      }
    }
  }
  // Huffman-only and RLE ignore the level's match settings.
  for (DeflateStrategy s : {DeflateStrategy::kHuffmanOnly, DeflateStrategy::kRle}) {
    for (DeflateFlavor f : {DeflateFlavor::kChromium, DeflateFlavor::kZlib}) {
      out.push_back({f, 6, 8, s, 15});
    }
  }
  return out;
}

std::optional<DeflateParams> ParamSearch::Find(ByteSpan content, ByteSpan compressed,
                                               int level_hint) {
  for (std::size_t i = 0; i < found_.size(); ++i) {
    ++candidates_tried_;
    if (Reproduces(content, compressed, found_[i])) {
      std::rotate(found_.begin(), found_.begin() + static_cast<std::ptrdiff_t>(i),
                  found_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return found_.front();
    }
  }
  if (misses_in_a_row_ >= give_up_after_ && !exhaustive_) return std::nullopt;
  for (const DeflateParams& p : Candidates(level_hint)) {
    if (std::find(found_.begin(), found_.end(), p) != found_.end()) continue;
    ++candidates_tried_;
    if (Reproduces(content, compressed, p)) {
      found_.insert(found_.begin(), p);
      misses_in_a_row_ = 0;
      return p;
    }
  }
  ++misses_in_a_row_;
  return std::nullopt;
}

}  // namespace ferry::delta::internal
