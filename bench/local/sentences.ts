// What bench:local speaks. Two sets:
//   commands  the 12 assistant-style sentences the offline stand-in has been checked with since it
//             was written (the engines' settings were chosen looking at these).
//   harvard   Harvard sentences, lists 1-3 (IEEE "Recommended Practice for Speech Quality
//             Measurements", 1969; public domain): phonetically balanced everyday English that was
//             never used to choose any setting of the engines: held-out speech.

export const COMMANDS = [
  "what is the weather in paris tomorrow",
  "set a timer for ten minutes",
  "tell me a joke",
  "what time is it",
  "how tall is the eiffel tower",
  "remind me to call my mother tonight",
  "what is the capital of france",
  "play some relaxing music",
  "turn off the lights in the kitchen",
  "how do i make a cup of tea",
  "set a timer for five minutes",
  "what is the time in london",
];

export const HARVARD = [
  // List 1
  "The birch canoe slid on the smooth planks.",
  "Glue the sheet to the dark blue background.",
  "It's easy to tell the depth of a well.",
  "These days a chicken leg is a rare dish.",
  "Rice is often served in round bowls.",
  "The juice of lemons makes fine punch.",
  "The box was thrown beside the parked truck.",
  "The hogs were fed chopped corn and garbage.",
  "Four hours of steady work faced us.",
  "Large size in stockings is hard to sell.",
  // List 2
  "The boy was there when the sun rose.",
  "A rod is used to catch pink salmon.",
  "The source of the huge river is the clear spring.",
  "Kick the ball straight and follow through.",
  "Help the woman get back to her feet.",
  "A pot of tea helps to pass the evening.",
  "Smoky fires lack flame and heat.",
  "The soft cushion broke the man's fall.",
  "The salt breeze came across from the sea.",
  "The girl at the booth sold fifty bonds.",
  // List 3
  "The small pup gnawed a hole in the sock.",
  "The fish twisted and turned on the bent hook.",
  "Press the pants and sew a button on the vest.",
  "The swan dive was far short of perfect.",
  "The beauty of the view stunned the young boy.",
  "Two blue fish swam in the tank.",
  "Her purse was full of useless trash.",
  "The colt reared and threw the tall rider.",
  "It snowed, rained, and hailed the same morning.",
  "Read verse out loud for pleasure.",
];

/** flite voices: the commands in the three used so far, the held-out set in all four English voices. */
export const COMMAND_VOICES = ["rms", "slt", "kal16"] as const;
export const HARVARD_VOICES = ["rms", "slt", "kal16", "awb"] as const;
