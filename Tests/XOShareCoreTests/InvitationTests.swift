import Testing
import XOShareCore
import XOShareTestSupport

@Suite struct InvitationTests {
    func sampleCode() throws -> InvitationCode {
        InvitationCode(
            connectionID: try ConnectionID.random(), hubOrgName: "Acme Corp ✓",
            hubPublicKey: try SigningKey().publicKey,
            secret: try randomBytes(16), expiresAt: 1_900_000_000)
    }

    @Test func codeRoundTripsAndIsCopyPasteFriendly() throws {
        let code = try sampleCode()
        let text = code.text
        #expect(text.hasPrefix("XO1-"))
        #expect(!text.dropFirst(4).contains { "ILOU".contains($0) || $0.isLowercase })
        #expect(try InvitationCode(parsing: "X01-" + text.dropFirst(4)) == code)
        #expect(try InvitationCode(parsing: text) == code)
        #expect(try InvitationCode(parsing: "  " + text.lowercased() + "\n") == code)
        #expect(
            try InvitationCode(
                parsing: text.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "XO1", with: "XO1-"))
                == code)
        #expect(code.secret.count * 8 >= 128)
    }

    @Test func everySingleCharacterTypoIsCaught() throws {
        let text = try sampleCode().text
        let characters = Array(text)
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        for index in 4..<characters.count where characters[index] != "-" {
            var typo = characters
            typo[index] = alphabet[(alphabet.firstIndex(of: characters[index])! + 1) % alphabet.count]
            #expect(throws: XOShareError.self) { try InvitationCode(parsing: String(typo)) }
        }
    }

    @Test func truncatedOrForeignCodesAreRefusedAsSuch() throws {
        let text = try sampleCode().text
        for length in [4, 10, text.count / 2, text.count - 1] {
            do {
                _ = try InvitationCode(parsing: String(text.prefix(length)))
                Issue.record("a code cut to \(length) characters was accepted")
            } catch let error as XOShareError {
                #expect(error.exitCode == .dataError)
                #expect(error.message.contains("mistyped or incomplete"))
            }
        }
        do {
            _ = try InvitationCode(parsing: "hello")
            Issue.record("text that is not a code was accepted")
        } catch let error as XOShareError {
            #expect(error.message.contains("not an xoshare invitation code"))
        }
    }

    @Test func acceptanceIsAuthenticatedByTheSecret() throws {
        let code = try sampleCode()
        let spokeKey = try SigningKey().publicKey
        let acceptance = try Acceptance(
            connection: code.connectionID, spokeOrg: "Globex", spokePublicKey: spokeKey, acceptedAt: 1_800_000_000,
            secret: code.secret)
        #expect(try acceptance.isAuthentic(secret: code.secret))
        #expect(!(try acceptance.isAuthentic(secret: try randomBytes(16))))
        let decoded = try #require(Acceptance.decode(try acceptance.encoded()))
        #expect(decoded == acceptance)
        #expect(decoded.spokePublicKeyBytes == spokeKey)
        var forged = acceptance
        forged.spokeOrg = "Mallory"
        #expect(!(try forged.isAuthentic(secret: code.secret)))
        #expect(Acceptance.decode(Array("{not json".utf8)) == nil)
    }
}
