// The dynamic value type of the chat-template interpreter: what Jinja2 sees
// as Python objects (None, bool, int, float, str, list, dict, callables),
// plus Jinja's Undefined. Lists and dicts are shared and immutable once
// built, as in transformers' ImmutableSandboxedEnvironment; the one mutable
// object is namespace(), whose attributes `set ns.attr = ...` assigns.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apr::chat {

class Value;
class Renderer;

using Array = std::vector<Value>;

class Object;
struct CallArgs;
// A built-in function, bound method or macro. The Renderer gives access to
// limits and to macro bodies.
using Function = std::function<Value(Renderer&, CallArgs&)>;

class Value {
public:
    enum class Kind { undefined, none, boolean, integer, floating, string, array, object, function };

    Value() = default;  // undefined
    static Value undefined(std::string name = {});
    static Value none();
    static Value boolean(bool b);
    static Value integer(int64_t i);
    static Value floating(double d);
    static Value string(std::string s);
    static Value array(Array items);
    static Value object(Object object, bool is_namespace = false);
    // `captures_namespace`: the function holds a value that holds a namespace
    // (a bound dict method), so storing it in a namespace could form a cycle.
    static Value function(std::string name, Function fn, bool captures_namespace = false);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::undefined; }
    bool is_none() const { return kind_ == Kind::none; }
    bool is_bool() const { return kind_ == Kind::boolean; }
    bool is_int() const { return kind_ == Kind::integer; }
    bool is_float() const { return kind_ == Kind::floating; }
    bool is_number() const { return kind_ == Kind::integer || kind_ == Kind::floating; }
    bool is_string() const { return kind_ == Kind::string; }
    bool is_array() const { return kind_ == Kind::array; }
    bool is_object() const { return kind_ == Kind::object; }
    bool is_namespace() const { return kind_ == Kind::object && namespace_; }
    bool is_function() const { return kind_ == Kind::function; }

    bool as_bool() const { return b_; }
    int64_t as_int() const { return i_; }
    double as_double() const { return kind_ == Kind::integer ? static_cast<double>(i_) : d_; }
    // The string's bytes; for undefined, the name it was looked up by.
    const std::string& as_string() const { return s_ ? *s_ : empty_string(); }
    const Array& as_array() const { return *array_; }
    const Object& as_object() const { return *object_; }
    Object& namespace_object() const { return *object_; }  // only for namespaces
    const Function& as_function() const { return *function_; }
    const std::string& function_name() const { return as_string(); }

    // Python truthiness: empty containers, "", 0, None and Undefined are false.
    bool truthy() const;
    // Jinja `==`: numbers compare by value (True == 1), containers deeply.
    // Throws apr::Error when the comparison would visit more than a million
    // elements (shared sub-lists can make a small value describe a huge one).
    bool equals(const Value& other) const;
    // Python type name, for error messages ("str", "list", "dict", ...).
    const char* type_name() const;
    // Nesting depth of lists/dicts (0 for scalars). Construction fails past
    // kMaxDepth so that printing, comparing and freeing values never recurse
    // deeper than the stack allows.
    int depth() const { return depth_; }
    // Whether this is or contains (in any list or dict) a namespace, known at
    // construction. A namespace attribute may not hold one: that is the only
    // way a value could contain itself (a cycle never freed, printed forever).
    bool holds_namespace() const { return holds_namespace_; }
    static constexpr int kMaxDepth = 128;

private:
    bool equals_within(const Value& other, uint64_t& budget) const;
    static const std::string& empty_string();

    Kind kind_ = Kind::undefined;
    bool namespace_ = false;
    int depth_ = 0;
    bool holds_namespace_ = false;
    bool b_ = false;
    int64_t i_ = 0;
    double d_ = 0;
    // Text is shared, never copied: templates pass long strings (a 16 MiB
    // prompt) around in loops, and copying a Value must stay O(1).
    std::shared_ptr<const std::string> s_;
    std::shared_ptr<const Array> array_;
    std::shared_ptr<Object> object_;
    std::shared_ptr<const Function> function_;
};

// A dict that keeps insertion order (Python 3.7+ dicts, and so json.dumps
// output order) with an index for lookups.
class Object {
public:
    const Value* find(std::string_view key) const;
    // Inserts or replaces; a replaced key keeps its position (like Python).
    void set(std::string key, Value value);
    // For building a dict whose keys are known to be distinct (loop objects).
    void reserve(size_t n) { items_.reserve(n); }
    void append_distinct(std::string key, Value value);
    const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
    size_t size() const { return items_.size(); }

private:
    std::vector<std::pair<std::string, Value>> items_;
    std::map<std::string, size_t, std::less<>> index_;
};

// Call arguments: positional values and keyword values in call order.
struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
};

// Text conversions with a size budget: `str()` as Jinja prints a value
// (None -> "None", lists in Python repr), and Python repr(). Both stop with
// apr::Error when the text would exceed max_bytes (hostile nesting can
// describe exponentially large values in little memory).
void append_str(std::string& out, const Value& value, size_t max_bytes);
void append_repr(std::string& out, const Value& value, size_t max_bytes);
std::string to_str(const Value& value, size_t max_bytes);

// Python float repr: shortest round-trip digits, always with a '.' or an
// exponent ("1.0", "0.1", "1e+20"), "inf", "nan".
std::string python_float_repr(double d);

// UTF-8 helpers (invalid bytes count as one code point each).
std::u32string utf8_to_u32(std::string_view text);
std::string u32_to_utf8(std::u32string_view text);
size_t utf8_length(std::string_view text);

}  // namespace apr::chat
