// Secret key files: round trips, file permissions, symlinks, passphrases and tampering.
#include "crypto/keyfile.h"

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/fs.h"
#include "base/json.h"
#include "tests/testutil/testutil.h"

namespace ferry::crypto {
namespace {

using ::ferry::testing::ReadFileOrDie;
using ::ferry::testing::TempDir;

// The cheapest Argon2id parameters libsodium accepts, so the tests stay fast.
KeyFileOptions Cheap() {
  KeyFileOptions o;
  o.opslimit = 1;
  o.memlimit = 8192;
  return o;
}

mode_t FileMode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

json::Value ReadJson(const std::string& path) {
  auto v = json::Parse(ReadFileOrDie(path));
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().ToString());
  return v.ok() ? *v : json::Value();
}

// Rewrites the key file with `edit` applied to its JSON object (mode stays 0600).
template <class Edit>
void EditKeyFile(const std::string& path, Edit edit) {
  json::Value doc = ReadJson(path);
  ASSERT_TRUE(doc.is_object());
  edit(doc.as_object());
  WriteFileOptions o;
  o.mode = 0600;
  ASSERT_OK(WriteFileAtomic(path, json::Encode(doc, 2) + "\n", o));
}

// Changes one hex digit of a string member.
void FlipHexDigit(json::Object& obj, const char* key, std::size_t index) {
  std::string s = obj.Find(key)->as_string();
  s[index] = s[index] == '0' ? '1' : '0';
  obj.Set(key, s);
}

template <class T>
std::string ErrorMessage(const Result<T>& r) {
  return r.ok() ? "" : r.error().message();
}

TEST(KeyFileTest, UnencryptedRoundTrip) {
  TempDir dir;
  const std::string path = dir.Join("ferry.key");
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  ASSERT_OK(WriteSecretKeyFile(path, key, std::nullopt));
  EXPECT_EQ(FileMode(path), 0600u);

  json::Value doc = ReadJson(path);
  EXPECT_EQ(doc.Find("ferry_secret_key")->as_int(), 1);
  EXPECT_EQ(doc.Find("keytype")->as_string(), "ed25519");
  EXPECT_EQ(doc.Find("encryption")->as_string(), "none");
  EXPECT_EQ(doc.Find("public")->as_string(), key.public_key().Hex());
  EXPECT_EQ(doc.Find("seed")->as_string(), HexEncode(key.seed()));
  EXPECT_EQ(doc.as_object().size(), 5u);

  auto encrypted = SecretKeyFileIsEncrypted(path);
  ASSERT_OK(encrypted);
  EXPECT_FALSE(*encrypted);

  auto loaded = ReadSecretKeyFile(path, std::nullopt);
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->public_key(), key.public_key());
  EXPECT_EQ(HexEncode(loaded->seed()), HexEncode(key.seed()));
  EXPECT_EQ(loaded->Sign("m"), key.Sign("m"));

  // A passphrase is ignored for an unencrypted file.
  auto with_pass = ReadSecretKeyFile(path, "unused");
  ASSERT_OK(with_pass);
  EXPECT_EQ(with_pass->public_key(), key.public_key());
}

TEST(KeyFileTest, EncryptedRoundTrip) {
  TempDir dir;
  const std::string path = dir.Join("ferry.key");
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  ASSERT_OK(WriteSecretKeyFile(path, key, "correct horse", Cheap()));
  EXPECT_EQ(FileMode(path), 0600u);

  const std::string text = ReadFileOrDie(path);
  EXPECT_EQ(text.find(HexEncode(key.seed())), std::string::npos) << "seed stored in the clear";
  json::Value doc = ReadJson(path);
  EXPECT_EQ(doc.Find("encryption")->as_string(), "argon2id-xsalsa20poly1305");
  EXPECT_EQ(doc.Find("opslimit")->as_int(), 1);
  EXPECT_EQ(doc.Find("memlimit")->as_int(), 8192);
  EXPECT_EQ(doc.Find("salt")->as_string().size(), 32u);
  EXPECT_EQ(doc.Find("nonce")->as_string().size(), 48u);
  EXPECT_EQ(doc.Find("ciphertext")->as_string().size(), 96u);
  EXPECT_EQ(doc.Find("seed"), nullptr);

  auto encrypted = SecretKeyFileIsEncrypted(path);
  ASSERT_OK(encrypted);
  EXPECT_TRUE(*encrypted);

  auto loaded = ReadSecretKeyFile(path, "correct horse");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->public_key(), key.public_key());
  EXPECT_EQ(HexEncode(loaded->seed()), HexEncode(key.seed()));
}

TEST(KeyFileTest, FreshSaltAndNonceEveryWrite) {
  TempDir dir;
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  ASSERT_OK(WriteSecretKeyFile(dir.Join("a"), key, "pw", Cheap()));
  ASSERT_OK(WriteSecretKeyFile(dir.Join("b"), key, "pw", Cheap()));
  json::Value a = ReadJson(dir.Join("a"));
  json::Value b = ReadJson(dir.Join("b"));
  EXPECT_NE(a.Find("salt")->as_string(), b.Find("salt")->as_string());
  EXPECT_NE(a.Find("nonce")->as_string(), b.Find("nonce")->as_string());
  EXPECT_NE(a.Find("ciphertext")->as_string(), b.Find("ciphertext")->as_string());
}

TEST(KeyFileTest, DefaultCostIsInteractive) {
  TempDir dir;
  const std::string path = dir.Join("ferry.key");
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  ASSERT_OK(WriteSecretKeyFile(path, key, "pw"));
  json::Value doc = ReadJson(path);
  EXPECT_EQ(doc.Find("opslimit")->as_int(), 2);
  EXPECT_EQ(doc.Find("memlimit")->as_int(), 64 << 20);
  auto loaded = ReadSecretKeyFile(path, "pw");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->public_key(), key.public_key());
}

TEST(KeyFileTest, WrongOrMissingPassphrase) {
  TempDir dir;
  const std::string path = dir.Join("ferry.key");
  ASSERT_OK(WriteSecretKeyFile(path, Ed25519SecretKey::Generate(), "right", Cheap()));
  auto wrong = ReadSecretKeyFile(path, "wrong");
  EXPECT_ERRC(wrong, Errc::kBadPassphrase);
  EXPECT_NE(ErrorMessage(wrong).find("wrong passphrase"), std::string::npos);
  EXPECT_ERRC(ReadSecretKeyFile(path, "Right"), Errc::kBadPassphrase);
  EXPECT_ERRC(ReadSecretKeyFile(path, "right "), Errc::kBadPassphrase);
  auto missing = ReadSecretKeyFile(path, std::nullopt);
  EXPECT_ERRC(missing, Errc::kBadPassphrase);
  EXPECT_NE(ErrorMessage(missing).find("passphrase is required"), std::string::npos);
  EXPECT_ERRC(ReadSecretKeyFile(path, ""), Errc::kBadPassphrase);
}

TEST(KeyFileTest, RefusesToReplaceUnlessAsked) {
  TempDir dir;
  const std::string path = dir.Join("ferry.key");
  Ed25519SecretKey first = Ed25519SecretKey::Generate();
  Ed25519SecretKey second = Ed25519SecretKey::Generate();
  ASSERT_OK(WriteSecretKeyFile(path, first, std::nullopt));
  EXPECT_ERRC(WriteSecretKeyFile(path, second, std::nullopt), Errc::kAlreadyExists);
  auto loaded = ReadSecretKeyFile(path, std::nullopt);
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->public_key(), first.public_key());

  // Re-encrypting the same key under a passphrase (replace explicitly).
  KeyFileOptions replace = Cheap();
  replace.overwrite = true;
  ASSERT_OK(WriteSecretKeyFile(path, first, "new", replace));
  EXPECT_EQ(FileMode(path), 0600u);
  auto reloaded = ReadSecretKeyFile(path, "new");
  ASSERT_OK(reloaded);
  EXPECT_EQ(reloaded->public_key(), first.public_key());
}

TEST(KeyFileTest, ModeIs0600EvenWithPermissiveUmask) {
  TempDir dir;
  const std::string path = dir.Join("ferry.key");
  mode_t old = ::umask(0);
  Status s = WriteSecretKeyFile(path, Ed25519SecretKey::Generate(), std::nullopt);
  ::umask(old);
  ASSERT_OK(s);
  EXPECT_EQ(FileMode(path), 0600u);
}

TEST(KeyFileTest, GroupOrOtherAccessIsRefused) {
  TempDir dir;
  const std::string path = dir.Join("ferry.key");
  ASSERT_OK(WriteSecretKeyFile(path, Ed25519SecretKey::Generate(), std::nullopt));
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610, 0601, 0666}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto r = ReadSecretKeyFile(path, std::nullopt);
    EXPECT_ERRC(r, Errc::kPermission);
    EXPECT_NE(ErrorMessage(r).find("chmod 600"), std::string::npos) << ErrorMessage(r);
    EXPECT_ERRC(SecretKeyFileIsEncrypted(path), Errc::kPermission);
  }
  // Owner-only modes are fine, including read-only.
  for (mode_t mode : {0600, 0400}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    EXPECT_OK(ReadSecretKeyFile(path, std::nullopt));
  }
}

TEST(KeyFileTest, SymlinksAreRefused) {
  TempDir dir;
  const std::string real = dir.Join("real.key");
  const std::string link = dir.Join("link.key");
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  ASSERT_OK(WriteSecretKeyFile(real, key, std::nullopt));
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);

  auto r = ReadSecretKeyFile(link, std::nullopt);
  EXPECT_ERRC(r, Errc::kPermission);
  EXPECT_NE(ErrorMessage(r).find("symlink"), std::string::npos);
  EXPECT_ERRC(SecretKeyFileIsEncrypted(link), Errc::kPermission);

  // Writing through the link is refused too, and the target is untouched.
  KeyFileOptions replace;
  replace.overwrite = true;
  EXPECT_ERRC(WriteSecretKeyFile(link, Ed25519SecretKey::Generate(), std::nullopt, replace),
              Errc::kPermission);
  EXPECT_ERRC(WriteSecretKeyFile(link, Ed25519SecretKey::Generate(), std::nullopt),
              Errc::kAlreadyExists);
  auto still = ReadSecretKeyFile(real, std::nullopt);
  ASSERT_OK(still);
  EXPECT_EQ(still->public_key(), key.public_key());
}

TEST(KeyFileTest, NotARegularFileOrMissing) {
  TempDir dir;
  EXPECT_ERRC(ReadSecretKeyFile(dir.Join("absent.key"), std::nullopt), Errc::kNotFound);
  EXPECT_ERRC(SecretKeyFileIsEncrypted(dir.Join("absent.key")), Errc::kNotFound);
  const std::string sub = dir.Join("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  EXPECT_ERRC(ReadSecretKeyFile(sub, std::nullopt), Errc::kPermission);
}

TEST(KeyFileTest, TamperedEncryptedFieldsLookLikeAWrongPassphrase) {
  // Any change to the ciphertext, nonce, salt or cost changes the key or fails the Poly1305 tag.
  struct Case {
    const char* name;
    void (*edit)(json::Object&);
  };
  const Case cases[] = {
      {"ciphertext body", [](json::Object& o) { FlipHexDigit(o, "ciphertext", 95); }},
      {"ciphertext tag", [](json::Object& o) { FlipHexDigit(o, "ciphertext", 0); }},
      {"nonce", [](json::Object& o) { FlipHexDigit(o, "nonce", 10); }},
      {"salt", [](json::Object& o) { FlipHexDigit(o, "salt", 31); }},
      {"opslimit", [](json::Object& o) { o.Set("opslimit", 2); }},
      {"memlimit", [](json::Object& o) { o.Set("memlimit", 16384); }},
  };
  TempDir dir;
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.Join(std::string(c.name) + ".key");
    ASSERT_OK(WriteSecretKeyFile(path, key, "pw", Cheap()));
    EditKeyFile(path, c.edit);
    auto r = ReadSecretKeyFile(path, "pw");
    EXPECT_ERRC(r, Errc::kBadPassphrase);
    EXPECT_NE(ErrorMessage(r).find("altered"), std::string::npos) << ErrorMessage(r);
  }
}

TEST(KeyFileTest, MismatchedPublicKeyIsRejected) {
  TempDir dir;
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  const std::string other = Ed25519SecretKey::Generate().public_key().Hex();
  for (bool encrypted : {false, true}) {
    SCOPED_TRACE(encrypted);
    const std::string path = dir.Join(encrypted ? "enc.key" : "plain.key");
    ASSERT_OK(WriteSecretKeyFile(
        path, key, encrypted ? std::optional<std::string_view>("pw") : std::nullopt, Cheap()));
    EditKeyFile(path, [&](json::Object& o) { o.Set("public", other); });
    auto r = ReadSecretKeyFile(path, "pw");
    EXPECT_ERRC(r, Errc::kParseError);
    EXPECT_NE(ErrorMessage(r).find("does not match"), std::string::npos) << ErrorMessage(r);
  }
  // In an unencrypted file, editing the seed is caught the same way.
  const std::string path = dir.Join("seed.key");
  ASSERT_OK(WriteSecretKeyFile(path, key, std::nullopt));
  EditKeyFile(path, [](json::Object& o) { FlipHexDigit(o, "seed", 7); });
  EXPECT_ERRC(ReadSecretKeyFile(path, std::nullopt), Errc::kParseError);
}

TEST(KeyFileTest, MalformedFiles) {
  TempDir dir;
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  struct Case {
    const char* name;
    bool encrypted;
    Errc errc;
    void (*edit)(json::Object&);
  };
  const Case cases[] = {
      {"version 2", false, Errc::kUnsupported,
       [](json::Object& o) { o.Set("ferry_secret_key", 2); }},
      {"version string", false, Errc::kParseError,
       [](json::Object& o) { o.Set("ferry_secret_key", "1"); }},
      {"no version", false, Errc::kParseError,
       [](json::Object& o) { o.Erase("ferry_secret_key"); }},
      {"keytype", false, Errc::kUnsupported, [](json::Object& o) { o.Set("keytype", "rsa"); }},
      {"encryption", false, Errc::kUnsupported,
       [](json::Object& o) { o.Set("encryption", "aes"); }},
      {"no seed", false, Errc::kParseError, [](json::Object& o) { o.Erase("seed"); }},
      {"short seed", false, Errc::kParseError, [](json::Object& o) { o.Set("seed", "abcd"); }},
      {"uppercase public", false, Errc::kParseError,
       [](json::Object& o) {
         std::string s = o.Find("public")->as_string();
         for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         s[0] = 'A';  // at least one letter
         o.Set("public", s);
       }},
      {"unknown member", false, Errc::kParseError, [](json::Object& o) { o.Set("comment", "x"); }},
      {"ciphertext in plain file", false, Errc::kParseError,
       [](json::Object& o) { o.Set("ciphertext", "00"); }},
      {"seed in encrypted file", true, Errc::kParseError,
       [](json::Object& o) { o.Set("seed", std::string(64, '0')); }},
      {"short ciphertext", true, Errc::kParseError,
       [](json::Object& o) { o.Set("ciphertext", std::string(94, '0')); }},
      {"opslimit too high", true, Errc::kParseError,
       [](json::Object& o) { o.Set("opslimit", 1000); }},
      {"opslimit zero", true, Errc::kParseError, [](json::Object& o) { o.Set("opslimit", 0); }},
      {"memlimit huge", true, Errc::kParseError,
       [](json::Object& o) { o.Set("memlimit", std::int64_t{1} << 40); }},
      {"memlimit negative", true, Errc::kParseError,
       [](json::Object& o) { o.Set("memlimit", -1); }},
      {"no nonce", true, Errc::kParseError, [](json::Object& o) { o.Erase("nonce"); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.Join(std::string(c.name) + ".key");
    ASSERT_OK(WriteSecretKeyFile(
        path, key, c.encrypted ? std::optional<std::string_view>("pw") : std::nullopt, Cheap()));
    EditKeyFile(path, c.edit);
    EXPECT_ERRC(ReadSecretKeyFile(path, "pw"), c.errc);
  }

  // Not JSON, not an object, empty.
  WriteFileOptions o;
  o.mode = 0600;
  for (const char* text : {"", "not json", "[1, 2]", "{\"ferry_secret_key\": 1,}"}) {
    SCOPED_TRACE(text);
    const std::string path = dir.Join("junk.key");
    ASSERT_OK(WriteFileAtomic(path, text, o));
    EXPECT_ERRC(ReadSecretKeyFile(path, std::nullopt), Errc::kParseError);
    EXPECT_ERRC(SecretKeyFileIsEncrypted(path), Errc::kParseError);
  }
  // Oversized.
  const std::string big = dir.Join("big.key");
  ASSERT_OK(WriteFileAtomic(big, std::string(1 << 20, ' '), o));
  EXPECT_ERRC(ReadSecretKeyFile(big, std::nullopt), Errc::kTooLarge);
}

TEST(KeyFileTest, WriteArgumentChecks) {
  TempDir dir;
  Ed25519SecretKey key = Ed25519SecretKey::Generate();
  EXPECT_ERRC(WriteSecretKeyFile(dir.Join("a"), key, ""), Errc::kInvalidArgument);
  KeyFileOptions o = Cheap();
  o.opslimit = 0;
  EXPECT_ERRC(WriteSecretKeyFile(dir.Join("b"), key, "pw", o), Errc::kInvalidArgument);
  o = Cheap();
  o.memlimit = 1024;
  EXPECT_ERRC(WriteSecretKeyFile(dir.Join("c"), key, "pw", o), Errc::kInvalidArgument);
  o = Cheap();
  o.opslimit = kKeyFileMaxOpsLimit + 1;
  EXPECT_ERRC(WriteSecretKeyFile(dir.Join("d"), key, "pw", o), Errc::kInvalidArgument);
  EXPECT_ERRC(WriteSecretKeyFile(dir.Join("no/such/dir/key"), key, std::nullopt), Errc::kNotFound);
  EXPECT_FALSE(PathExists(dir.Join("a")));
  EXPECT_FALSE(PathExists(dir.Join("b")));
}

}  // namespace
}  // namespace ferry::crypto
