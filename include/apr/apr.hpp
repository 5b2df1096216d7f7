// libapr's whole public C++ API in one include.
//
//   #include <apr/apr.hpp>
//   auto model = apr::Model::load("model.gguf");
//   apr::Session session(*model);
//   auto result = apr::generate(session, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", {});
#pragma once

#include "apr/batch.hpp"
#include "apr/chat_template.hpp"
#include "apr/convert.hpp"
#include "apr/device.hpp"
#include "apr/dtype.hpp"
#include "apr/error.hpp"
#include "apr/export.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/model_config.hpp"
#include "apr/model_file.hpp"
#include "apr/sampling.hpp"
#include "apr/session.hpp"
#include "apr/tensor.hpp"
#include "apr/tokenizer.hpp"
#include "apr/trace.hpp"
#include "apr/verify.hpp"
#include "apr/version.hpp"
