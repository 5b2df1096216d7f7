// A whole SafeTensors repository: the model-info API lists its files; the
// config, tokenizer and generation-config files and the weights are taken
// (the index's shards when there is an index, else every top-level
// *.safetensors), each through download_file.
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <vector>

#include "core/fail.hpp"
#include "core/read_file.hpp"
#include "hub/cache_layout.hpp"
#include "hub/downloads.hpp"
#include "hub/hub_errors.hpp"
#include "hub/http_client.hpp"

namespace apr::hub {
namespace {

namespace fs = std::filesystem;

// Small files the readers, tokenizer and chat template may look at.
constexpr std::string_view kSupportFiles[] = {
    "config.json",          "generation_config.json", "tokenizer.json",   "tokenizer_config.json",
    "special_tokens_map.json", "vocab.json",          "merges.txt",       "added_tokens.json",
    "tokenizer.model",      "chat_template.jinja",    "chat_template.json",
};

std::vector<std::string> list_repository(const HubUri& uri, const HubOptions& options) {
    const std::string url = options.endpoint + "/api/models/" + uri.repo + "/revision/" + url_escape(uri.revision);
    std::string body;
    with_retries(options, uri.str(), "", [&] {
        body.clear();
        const HttpResponse response = http_request(
            HttpRequest{url, options.token, false, 0}, [&](long, const HttpResponse&, const char* data, size_t size) {
                if (body.size() + size > (64u << 20)) return false;  // no listing is that large
                body.append(data, size);
                return true;
            });
        check_status(response, uri, options);
    });
    simdjson::dom::parser parser;
    simdjson::dom::object info;
    simdjson::dom::array siblings;
    if (parser.parse(simdjson::padded_string(body)).get(info) || info["siblings"].get(siblings))
        fail(ErrorCode::bad_format, "{}: the model-info answer of {} is not JSON with a 'siblings' list", uri.str(),
             url);
    std::vector<std::string> files;
    for (simdjson::dom::element sibling : siblings) {
        std::string_view name;
        if (sibling["rfilename"].get(name) == simdjson::SUCCESS) files.emplace_back(name);
    }
    return files;
}

bool is_support_file(const std::string& name) {
    return std::find(std::begin(kSupportFiles), std::end(kSupportFiles), name) != std::end(kSupportFiles);
}

// The shard names an index maps tensors to, checked to stay in the repo.
std::set<std::string> index_shards(const fs::path& index, const HubUri& uri) {
    simdjson::dom::parser parser;
    simdjson::dom::object map;
    const simdjson::padded_string text(read_whole_file(index));
    if (parser.parse(text)["weight_map"].get(map))
        fail(ErrorCode::bad_format, "{}: {} has no 'weight_map' object", uri.str(), index.filename().string());
    std::set<std::string> shards;
    for (auto field : map) {
        std::string_view shard;
        if (field.value.get(shard) || shard.empty() || shard.find("..") != std::string_view::npos ||
            shard.front() == '/' || shard.find('\\') != std::string_view::npos)
            fail(ErrorCode::bad_format, "{}: {} maps '{}' to an unusable shard name", uri.str(),
                 index.filename().string(), field.key);
        shards.emplace(shard);
    }
    return shards;
}

HubUri file_of(const HubUri& repo, const std::string& file) {
    HubUri out = repo;
    out.file = file;
    return out;
}

}  // namespace

fs::path download_repository(const HubUri& uri, const HubOptions& options) {
    const CacheLayout layout(options.cache_dir);
    const fs::path dir = layout.revision_dir(uri.repo, uri.revision);
    std::error_code ec;
    if (fs::exists(layout.complete_marker(uri), ec)) return dir;
    if (options.offline.value_or(false))
        fail(ErrorCode::not_found,
             "{}: the repository is not completely in the cache ({}) and downloads are off (--offline or "
             "HF_HUB_OFFLINE=1); run `apr download {}` while online",
             uri.str(), dir.string(), uri.str());

    const std::vector<std::string> listed = list_repository(uri, options);
    std::vector<std::string> support, weights, others;
    std::string index;
    for (const std::string& name : listed) {
        if (name.find('/') != std::string::npos) continue;  // subfolders: onnx/, original/, ...
        if (is_support_file(name)) support.push_back(name);
        else if (name.ends_with(".safetensors.index.json") && (index.empty() || name == "model.safetensors.index.json"))
            index = name;
        else if (name.ends_with(".safetensors")) weights.push_back(name);
        else if (name.ends_with(".gguf")) others.push_back(name);
    }
    if (weights.empty()) {
        std::string hint;
        if (!others.empty()) {
            hint = "; name one of its GGUF files instead, e.g.";
            for (size_t i = 0; i < others.size() && i < 3; ++i) hint += " hf://" + uri.repo + "/" + others[i];
        }
        fail(ErrorCode::unsupported, "{}: the repository has no top-level *.safetensors weights{}", uri.str(), hint);
    }
    if (std::find(support.begin(), support.end(), "config.json") == support.end())
        fail(ErrorCode::unsupported, "{}: the repository has no config.json, so it is not a model libapr can load",
             uri.str());

    std::vector<std::string> done;
    for (const std::string& name : support) {
        download_file(file_of(uri, name), options);
        done.push_back(name);
    }
    if (!index.empty()) {
        const fs::path index_path = download_file(file_of(uri, index), options);
        done.push_back(index);
        weights.clear();
        for (const std::string& shard : index_shards(index_path, uri)) {
            if (std::find(listed.begin(), listed.end(), shard) == listed.end())
                fail(ErrorCode::bad_format, "{}: {} names shard '{}', which the repository does not have", uri.str(),
                     index, shard);
            weights.push_back(shard);
        }
    }
    for (const std::string& name : weights) {
        download_file(file_of(uri, name), options);
        done.push_back(name);
    }
    std::ofstream marker(layout.complete_marker(uri), std::ios::trunc);
    for (const std::string& name : done) marker << name << '\n';
    if (!marker) fail(ErrorCode::io, "{}: cannot write", layout.complete_marker(uri).string());
    return dir;
}

}  // namespace apr::hub
